CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL);
CREATE INDEX CONCURRENTLY items_name ON items (name);
CREATE TABLE more (id int);
