CREATE EXTENSION hstore;
CREATE TYPE hstore_range AS RANGE (subtype = hstore);
CREATE TABLE kv (id int PRIMARY KEY, attrs hstore, spans hstore_range);
