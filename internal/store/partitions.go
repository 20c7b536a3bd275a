package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// On PostgreSQL the request log is partitioned by day (migration 15):
// partitions are created a few days ahead, and retention drops whole days.

// partitionsAhead is how many days beyond today get a partition ahead of
// time, so a late maintenance run never leaves a day without one.
const partitionsAhead = 3

const partitionPrefix = "request_logs_p"

// ensureLogPartitions creates the daily partitions from today on. Today's
// may fail when rows for it already sit in the default partition (the
// first start after the migration); they stay there and are pruned row by
// row, and tomorrow's partition is ready.
func (s *Store) ensureLogPartitions(ctx context.Context, now time.Time) error {
	if !s.postgres {
		return nil
	}
	today := now.UTC().Truncate(24 * time.Hour)
	var errs []error
	for i := 0; i <= partitionsAhead; i++ {
		day := today.AddDate(0, 0, i)
		q := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s%s PARTITION OF request_logs FOR VALUES FROM (%d) TO (%d)`,
			partitionPrefix, day.Format("20060102"), day.UnixMilli(), day.AddDate(0, 0, 1).UnixMilli())
		if _, err := s.db.ExecContext(ctx, q); err != nil && i > 0 {
			errs = append(errs, fmt.Errorf("store: log partition for %s: %w", day.Format(time.DateOnly), err))
		}
	}
	return errors.Join(errs...)
}

// dropLogPartitions drops the daily partitions wholly before cutoff and
// reports how many rows they held.
func (s *Store) dropLogPartitions(ctx context.Context, cutoff time.Time) (int64, error) {
	if !s.postgres {
		return 0, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'request_logs'::regclass`)
	if err != nil {
		return 0, err
	}
	var old []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return 0, err
		}
		base := name[strings.LastIndexByte(name, '.')+1:]
		day, err := time.Parse("20060102", strings.TrimPrefix(base, partitionPrefix))
		if err != nil || !strings.HasPrefix(base, partitionPrefix) {
			continue // the default partition
		}
		if !day.AddDate(0, 0, 1).After(cutoff) {
			old = append(old, name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	var dropped int64
	for _, name := range old {
		var n int64
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+name).Scan(&n); err != nil {
			return dropped, err
		}
		if _, err := s.db.ExecContext(ctx, `DROP TABLE `+name); err != nil {
			return dropped, err
		}
		dropped += n
	}
	return dropped, nil
}
