-- Door staff (issue 27): the SCANNER role checks tickets in and reads revocation lists.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('USER', 'ADMIN', 'SCANNER'));
