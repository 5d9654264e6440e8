//! The SQL schema of the care-home terminal's database, shared by every store of it.
//!
//! The C reference terminal (`ffi/examples/terminal.c`, through `tcm_store_schema()`) and
//! the Python store (`tcmcare.store.SQLiteStore`, through `tcmcare._native.STORE_SCHEMA`)
//! run this one script, embedded at build time from `core/sql/store.sql`, so their
//! databases are the same and either can open the other's.
//!
//! The version lives in the database as the `meta` row `('schema', '<version>')`. A store
//! reads it before writing anything and refuses a version above [`SCHEMA_VERSION`] (or
//! one that is not a number), leaving the file unchanged; then it runs [`SCHEMA_SQL`],
//! whose statements are all `IF NOT EXISTS` and whose last statement writes the version
//! to a new database or raises it from an older one (version 1 lacked the key tables,
//! which the script creates), and never lowers it.

/// The SQLite script of the shared database: `CREATE TABLE` / `CREATE INDEX ... IF NOT
/// EXISTS` of every table, then the version row. Plain SQL text (no NUL byte), the text of
/// `core/sql/store.sql`.
pub const SCHEMA_SQL: &str = include_str!("../sql/store.sql");

/// The version of [`SCHEMA_SQL`], stored in the database as `meta` row `'schema'`.
/// Version 1 (no `devices`, `device_keys`, `seal_counters`) is upgraded in place.
pub const SCHEMA_VERSION: u32 = 2;

#[cfg(test)]
mod tests {
    use super::*;

    /// The statements of the script, comments (`--` to the end of the line) removed.
    fn statements() -> Vec<String> {
        let code: String = SCHEMA_SQL
            .lines()
            .map(|l| l.split("--").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        code.split(';')
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|s| !s.is_empty())
            .collect()
    }

    #[test]
    fn the_version_row_is_the_version_constant() {
        let last = statements().pop().expect("a statement");
        let want = format!("INSERT INTO meta (key, value) VALUES ('schema', '{SCHEMA_VERSION}')");
        assert!(last.starts_with(&want), "last statement: {last}");
        assert!(
            last.ends_with("WHERE CAST(meta.value AS INTEGER) < CAST(excluded.value AS INTEGER)"),
            "the version row must never be lowered: {last}"
        );
        let rows = statements()
            .iter()
            .filter(|s| s.contains("'schema'"))
            .count();
        assert_eq!(rows, 1, "one version row");
        assert!(SCHEMA_SQL.contains(&format!("version {SCHEMA_VERSION}:")));
    }

    #[test]
    fn every_table_and_index_of_the_shared_database_is_created_if_missing() {
        let statements = statements();
        let creates: Vec<&str> = statements
            .iter()
            .map(String::as_str)
            .filter(|s| s.starts_with("CREATE"))
            .collect();
        for s in &creates {
            assert!(
                s.starts_with("CREATE TABLE IF NOT EXISTS ")
                    || s.starts_with("CREATE INDEX IF NOT EXISTS ")
                    || s.starts_with("CREATE UNIQUE INDEX IF NOT EXISTS "),
                "not IF NOT EXISTS: {s}"
            );
        }
        let tables: Vec<&str> = creates
            .iter()
            .filter_map(|s| s.strip_prefix("CREATE TABLE IF NOT EXISTS "))
            .map(|s| s.split([' ', '(']).next().unwrap_or(""))
            .collect();
        assert_eq!(
            tables,
            [
                "records",
                "watermarks",
                "meta",
                "devices",
                "device_keys",
                "seal_counters"
            ]
        );
        // Only CREATEs and the version row: nothing that changes an existing table.
        assert_eq!(statements.len(), creates.len() + 1);
    }

    #[test]
    fn the_script_can_be_handed_to_c_as_a_string() {
        assert!(!SCHEMA_SQL.contains('\0'));
        assert!(SCHEMA_SQL.is_ascii());
    }
}
