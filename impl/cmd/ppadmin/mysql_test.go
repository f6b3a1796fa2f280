package main

import (
	"database/sql"
	"testing"

	_ "github.com/go-sql-driver/mysql"

	"powermail/impl/userbase"
)

func dropTables(t *testing.T, dsn, prefix string) {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Error(err)
		return
	}
	defer db.Close()
	for _, table := range userbase.TableNames() {
		if _, err := db.Exec("DROP TABLE IF EXISTS " + prefix + table); err != nil {
			t.Error(err)
		}
	}
}
