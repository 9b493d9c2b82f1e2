-- Feedback idempotency keys are scoped to their session: the UNIQUE key becomes (session_id, event_id)
-- instead of event_id alone, so a client reusing an id in another session records a new event there
-- rather than being handed the other session's event. SQLite cannot change a constraint in place:
-- the table is recreated and every row copied (same ids) inside this migration's transaction.
CREATE TABLE feedback_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,           -- the client's id: a retried POST is recorded once per session
    session_id TEXT NOT NULL REFERENCES sessions(id),
    user_id TEXT,
    item_id INTEGER,
    kind TEXT NOT NULL,               -- bot.types.FeedbackKind
    value REAL,
    created TEXT NOT NULL,
    UNIQUE (session_id, event_id)
);
INSERT INTO feedback_new (id, event_id, session_id, user_id, item_id, kind, value, created)
    SELECT id, event_id, session_id, user_id, item_id, kind, value, created FROM feedback ORDER BY id;
DROP TABLE feedback;
ALTER TABLE feedback_new RENAME TO feedback;
CREATE INDEX feedback_session ON feedback(session_id, id);
CREATE INDEX feedback_user ON feedback(user_id);
