CREATE TABLE "user" (id bigserial PRIMARY KEY, name text NOT NULL);
CREATE TABLE "order" (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES "user" (id),
    total int NOT NULL
);
CREATE TABLE "group" (id bigserial PRIMARY KEY, name text NOT NULL);
CREATE TABLE user_group (
    user_id bigint NOT NULL REFERENCES "user" (id),
    group_id bigint NOT NULL REFERENCES "group" (id),
    PRIMARY KEY (user_id, group_id)
);
