DROP TABLE todos;
DROP TABLE lists;
