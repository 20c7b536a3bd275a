-- Team names are unique within an organization, and among teams with no
-- organization (NULLs are distinct in a plain UNIQUE constraint).
CREATE UNIQUE INDEX teams_name_unique ON teams ((COALESCE(org_id, '')), name);
