-- godwit:up
UPDATE posts SET score = 1 WHERE score = 0;
