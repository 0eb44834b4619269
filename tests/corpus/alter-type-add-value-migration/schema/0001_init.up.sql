CREATE TYPE state AS ENUM ('new');
CREATE TABLE tasks (id bigserial PRIMARY KEY, state state NOT NULL DEFAULT 'new');
