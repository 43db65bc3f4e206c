-- The first account created on an installation administers it (the admin page); on an
-- installation in use, that is the oldest account.
ALTER TABLE users ADD COLUMN is_admin BOOLEAN NOT NULL DEFAULT false;
UPDATE users SET is_admin = true WHERE id = (SELECT min(id) FROM users);
