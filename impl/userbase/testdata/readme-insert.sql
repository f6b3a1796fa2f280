INSERT INTO mailboxes (mbox, password_hash, quota_bytes, forward, enabled)
VALUES ('dave@example.com', '{md5}5f4dcc3b5aa765d61d8327deb882cf99', 104857600, '', 1);
