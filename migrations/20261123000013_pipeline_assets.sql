-- story, tts, image, music, moderation, video: what each worker records so a redelivered job is recognised.
ALTER TABLE story.stories
    ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1,
    ADD COLUMN script  JSONB   NOT NULL DEFAULT '{}';
CREATE UNIQUE INDEX stories_run_attempt ON story.stories (run_id, attempt);

ALTER TABLE tts.narrations
    ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1,
    ADD COLUMN cues    JSONB   NOT NULL DEFAULT '[]';
CREATE UNIQUE INDEX narrations_run_attempt ON tts.narrations (run_id, attempt);

ALTER TABLE image.images
    ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1,
    ADD COLUMN seed    BIGINT  NOT NULL DEFAULT 0,
    ADD COLUMN licence JSONB   NOT NULL DEFAULT '{}';
CREATE UNIQUE INDEX images_run_scene_attempt ON image.images (run_id, scene_index, attempt);

ALTER TABLE music.tracks
    ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1,
    ADD COLUMN details JSONB   NOT NULL DEFAULT '{}';
CREATE UNIQUE INDEX tracks_run_attempt ON music.tracks (run_id, attempt);

ALTER TABLE moderation.decisions ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX decisions_subject ON moderation.decisions (run_id, attempt, subject_kind, subject_ref);

-- One row per moderation round of a run: the verdict the orchestrator was told.
CREATE TABLE moderation.checks (
    run_id     UUID        NOT NULL,
    attempt    INTEGER     NOT NULL,
    tenant     TEXT        NOT NULL,
    verdict    TEXT        NOT NULL CHECK (verdict IN ('pass', 'fail', 'review')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, attempt)
);

-- Human review of runs whose assets kept failing moderation; decisions are kept as an audit log.
CREATE TABLE moderation.reviews (
    id          UUID PRIMARY KEY,
    run_id      UUID        NOT NULL UNIQUE,
    tenant      TEXT        NOT NULL,
    state       TEXT        NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
    reasons     JSONB       NOT NULL,
    decided_by  TEXT,
    note        TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    decided_at  TIMESTAMPTZ
);
CREATE INDEX reviews_pending ON moderation.reviews (tenant, created_at) WHERE state = 'pending';

CREATE UNIQUE INDEX renders_run_format ON video.renders (run_id, format);
-- Everything else a render produced: captions, thumbnails and the ffprobe checks.
CREATE TABLE video.bundles (
    run_id     UUID PRIMARY KEY,
    tenant     TEXT        NOT NULL,
    srt_key    TEXT        NOT NULL,
    vtt_key    TEXT        NOT NULL,
    thumbnails JSONB       NOT NULL,
    probes     JSONB       NOT NULL,
    timings    JSONB       NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
