-- plaza_lower is the lower case that searches compare in, the same
-- function on both databases: on SQLite it is registered by Plaza (package
-- sqldb) with Go's Unicode case folding, since SQLite's LOWER folds ASCII
-- only; here it is PostgreSQL's lower, which folds by the database's
-- LC_CTYPE (a C or POSIX LC_CTYPE folds ASCII only too).

CREATE FUNCTION plaza_lower(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT lower($1)';
