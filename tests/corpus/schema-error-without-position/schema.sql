CREATE TABLE a (id int PRIMARY KEY);

CREATE TABLE b (id int REFERENCES nope (id));
