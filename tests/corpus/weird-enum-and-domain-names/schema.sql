CREATE TYPE weird AS ENUM ('a b', 'Self', '1x', 'café', 'A', 'a');
CREATE DOMAIN "1st" AS int CHECK (VALUE > 0);
CREATE TABLE things (id "1st" PRIMARY KEY, kind weird NOT NULL);
CREATE TABLE parts (id int PRIMARY KEY, thing_id "1st" NOT NULL REFERENCES things (id));
