-- a comment
SELECT 1;
