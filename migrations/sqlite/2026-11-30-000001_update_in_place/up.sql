-- PostgreSQL's migration of this name leaves room on the pages of often-updated tables; SQLite
-- has no such setting. Kept so that both backends have the same migrations.
SELECT 1;
