package devstack

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // FerretDB's own SQLite driver, already in the binary
)

// FerretDB 1.24's SQLite backend looks documents up by
//
//	WHERE _ferretdb_sjson->'$._id' = ?
//
// but indexes _id as (_ferretdb_sjson->"_id"): SQLite cannot match the two expressions, so every
// find, update and delete by _id decoded every document of the collection. Measured on 1,600
// payments: 14 ms an update, and the payment and notification services spent a whole core on it
// during a flash sale, growing with every booking. indexIDs adds, to each collection's table, an
// index on the very expression FerretDB queries with, so those lookups use it.
func indexIDs(ctx context.Context, dir string, log *slog.Logger) {
	done := map[string]bool{}
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
		for _, f := range files {
			if err := indexFile(ctx, f, done, log); err != nil && ctx.Err() == nil {
				log.Warn("index FerretDB tables by _id", "file", f, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}

func indexFile(ctx context.Context, path string, done map[string]bool, log *slog.Logger) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%_ferretdb_sjson%'`)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		if !done[path+"/"+t] {
			tables = append(tables, t)
		}
	}
	rows.Close()
	for _, t := range tables {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`, t+"_ticketflow_id", t)
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
		done[path+"/"+t] = true
		log.Info("FerretDB table indexed by _id", "file", filepath.Base(path), "table", t)
	}
	return nil
}
