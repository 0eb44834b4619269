CREATE TYPE "2nd" AS ENUM ('low', 'high');
CREATE DOMAIN "1st" AS "2nd";
CREATE DOMAIN initial AS "char";
CREATE DOMAIN moment AS time(0);
CREATE TABLE "user" (id bigint PRIMARY KEY, rank "1st", initial initial, seen moment);
