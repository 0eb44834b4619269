CREATE TABLE kinds (
    id   bigint PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE items (
    id      bigint PRIMARY KEY,
    kind_id bigint NOT NULL REFERENCES kinds (id),
    name    text NOT NULL,
    price   integer NOT NULL,
    rank    integer NOT NULL,
    active  boolean NOT NULL
);

CREATE INDEX items_kind_id_idx ON items (kind_id);

CREATE TABLE item_notes (
    id      bigint PRIMARY KEY,
    item_id bigint NOT NULL REFERENCES items (id),
    body    text NOT NULL
);

CREATE INDEX item_notes_item_id_idx ON item_notes (item_id);
