CREATE TYPE "odd label" AS ENUM ('a`b', 'tab	here', '<b>', 'self', 'Self', '[x]');
CREATE TABLE docs (id bigint PRIMARY KEY, "a`b" text, "<i>" text, kind "odd label");
