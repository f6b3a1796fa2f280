INSERT INTO mailboxes (mbox, password_hash, quota_bytes, forward, enabled)
SELECT LOWER(mbox),
       CASE WHEN password LIKE '{%' THEN password ELSE CONCAT('{plain}', password) END,
       quotaMB * 1048576,
       CASE WHEN isForward = 1 THEN fwdDest ELSE '' END,
       1
FROM mboxes;
