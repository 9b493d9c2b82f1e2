-- Sessions, turns and feedback. Append-only: later changes go into 0002_*.sql, never edit this file.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,              -- secrets.token_urlsafe(24) (the CLI may name one explicitly)
    user_id TEXT,                     -- a logged-in / MovieLens user id, NULL when anonymous
    site_key TEXT,                    -- the widget's site key, NULL for CLI / Gradio
    created TEXT NOT NULL,            -- ISO-8601 UTC
    updated TEXT NOT NULL,
    state TEXT NOT NULL               -- bot.state.DialogueState as JSON
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    user_id TEXT,
    created TEXT NOT NULL,
    message TEXT NOT NULL,
    intent TEXT NOT NULL,
    parse TEXT NOT NULL,              -- bot.parse.ParsedMessage as JSON
    candidates TEXT NOT NULL,         -- [{item_id, title, score, cf_score, semantic_score, evidence}]
    shown TEXT NOT NULL,              -- [item_id, ...] in display order
    reply TEXT NOT NULL,
    question TEXT,
    explanations TEXT NOT NULL,       -- [{item_id, source, path, reason, latency_ms}]
    latency_ms TEXT NOT NULL          -- {parse, candidates, explain, total, ...}
);
CREATE INDEX turns_session ON turns(session_id, id);

CREATE TABLE feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,    -- the client's id: a retried POST is recorded once
    session_id TEXT NOT NULL REFERENCES sessions(id),
    user_id TEXT,
    item_id INTEGER,
    kind TEXT NOT NULL,               -- bot.types.FeedbackKind
    value REAL,
    created TEXT NOT NULL
);
CREATE INDEX feedback_session ON feedback(session_id, id);
CREATE INDEX feedback_user ON feedback(user_id);
