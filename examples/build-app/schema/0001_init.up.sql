-- To-do lists and their items.

CREATE TABLE lists (
    id          bigserial PRIMARY KEY,
    title       text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE todos (
    id          bigserial PRIMARY KEY,
    list_id     bigint NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    title       text NOT NULL,
    -- NULL when the item has no deadline.
    due_on      date,
    -- NULL while the item is open.
    done_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX todos_list_id_idx ON todos (list_id);
