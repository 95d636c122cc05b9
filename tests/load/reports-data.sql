-- Report benchmark data generator (docs/REPORTS.md, "Performance"): fills ONE tenant database with a sales team's
-- history, set-based with generate_series. Run it with psql against the organization's own database:
--
--   psql -v deals=100000 -v activities=300000 -v meetings=30000 -v members=12 -d <tenant database> -f tests/load/reports-data.sql
--
-- What it makes (deterministic: setseed, so two runs give the same shape):
--   * :members extra members (reports@example.com-style emails), active;
--   * two more pipelines beside the default one ("Bench enterprise": 5 open stages + won + lost; "Bench partners": 3 + won + lost);
--   * :deals deals over the last two years in the three pipelines, EUR/USD/GBP/JPY, ~55 % open (in a random open stage),
--     ~25 % won, ~20 % lost, with expected close dates, owners, a creation and a stage-history row each (two for the closed);
--   * revenue splits (two members, 60/40) and an overlay split on every fifth won deal;
--   * :activities activities (call/email/meeting/note/task) by random actors, attached to random deals, over two years;
--   * :meetings meetings on random deals with two member attendees and one outside attendee each.
-- It refuses to run twice on the same database (the bench pipelines would already exist).
\set ON_ERROR_STOP on
\if :{?deals}
\else
\set deals 100000
\endif
\if :{?activities}
\else
\set activities 300000
\endif
\if :{?meetings}
\else
\set meetings 30000
\endif
\if :{?members}
\else
\set members 12
\endif

BEGIN;
SELECT setseed(0.22);
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pipelines WHERE name = 'Bench enterprise') THEN
    RAISE EXCEPTION 'this database already holds the report benchmark data';
  END IF;
END $$;

INSERT INTO members (id, email, name, role, is_active, created_at, updated_at)
SELECT gen_random_uuid(), 'seller' || g || '@reports.example.com', 'Seller ' || g, 'member', true, now(), now()
FROM generate_series(1, :members) g;

CREATE TEMP TABLE bench_members AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM members WHERE is_active;

INSERT INTO pipelines (id, name, is_default, created_at, updated_at)
VALUES (gen_random_uuid(), 'Bench enterprise', false, now(), now()), (gen_random_uuid(), 'Bench partners', false, now(), now());
INSERT INTO pipeline_stages (id, pipeline_id, name, position, probability, kind)
SELECT gen_random_uuid(), p.id, s.name, s.position, s.probability, s.kind
FROM pipelines p
JOIN (VALUES ('Bench enterprise', 'Discovery', 0, 10, 'open'), ('Bench enterprise', 'Qualified', 1, 25, 'open'),
             ('Bench enterprise', 'Proposal', 2, 50, 'open'), ('Bench enterprise', 'Negotiation', 3, 75, 'open'),
             ('Bench enterprise', 'Commit', 4, 90, 'open'), ('Bench enterprise', 'Won', 5, 100, 'won'),
             ('Bench enterprise', 'Lost', 6, 0, 'lost'),
             ('Bench partners', 'Intro', 0, 20, 'open'), ('Bench partners', 'Pilot', 1, 50, 'open'),
             ('Bench partners', 'Contract', 2, 80, 'open'), ('Bench partners', 'Won', 3, 100, 'won'),
             ('Bench partners', 'Lost', 4, 0, 'lost')) AS s(pipeline, name, position, probability, kind)
  ON s.pipeline = p.name;

-- The live stages of the three pipelines, numbered per pipeline and kind, to pick from.
CREATE TEMP TABLE bench_stages AS
SELECT p.n AS pipeline_n, st.id, st.pipeline_id, st.kind, st.probability,
       row_number() OVER (PARTITION BY st.pipeline_id, st.kind ORDER BY st.position) AS k,
       count(*) OVER (PARTITION BY st.pipeline_id, st.kind) AS kinds
FROM pipeline_stages st
JOIN (SELECT id, row_number() OVER (ORDER BY is_default DESC, name) AS n FROM pipelines
      WHERE deleted_at IS NULL AND (is_default OR name LIKE 'Bench %')) p ON p.id = st.pipeline_id
WHERE st.deleted_at IS NULL AND st.position >= 0;

CREATE TEMP TABLE bench_deals AS
SELECT g,
       gen_random_uuid() AS id,
       1 + floor(random() * 3)::int AS pipeline_n,
       CASE WHEN r < 0.55 THEN 'open' WHEN r < 0.80 THEN 'won' ELSE 'lost' END AS kind,
       1 + floor(random() * (SELECT count(*) FROM bench_members))::int AS owner_n,
       (ARRAY['EUR', 'EUR', 'USD', 'USD', 'GBP', 'JPY'])[1 + floor(random() * 6)::int] AS currency,
       (1000 + floor(random() * 5000000))::bigint AS amount,
       now() - make_interval(secs => random() * 730 * 86400) AS created_at,
       random() AS pick, random() AS cycle
FROM (SELECT g, random() AS r FROM generate_series(1, :deals) g) x;

INSERT INTO deals (id, name, pipeline_id, stage_id, amount, currency, probability, expected_close_date, status, closed_at, owner_id,
                   stage_entered_at, created_at, updated_at)
SELECT d.id, 'Bench deal ' || d.g, s.pipeline_id, s.id, d.amount, d.currency, s.probability,
       (d.created_at + make_interval(days => 15 + (d.cycle * 150)::int))::date,
       d.kind,
       CASE WHEN d.kind <> 'open' THEN least(now(), d.created_at + make_interval(days => 3 + (d.cycle * 120)::int)) END,
       m.id,
       CASE WHEN d.kind <> 'open' THEN least(now(), d.created_at + make_interval(days => 3 + (d.cycle * 120)::int))
            ELSE d.created_at + (now() - d.created_at) * d.cycle END,
       d.created_at, d.created_at
FROM bench_deals d
JOIN bench_members m ON m.n = d.owner_n
JOIN bench_stages s ON s.pipeline_n = d.pipeline_n AND s.kind = d.kind AND s.k = 1 + floor(d.pick * s.kinds)::int;

-- History: the creation (into the first stage, or straight into the current one), then the move that closed or advanced it.
INSERT INTO deal_stage_history (id, deal_id, from_stage_id, to_stage_id, changed_at, created_at, updated_at)
SELECT gen_random_uuid(), d.id, NULL, d.stage_id, d.created_at, d.created_at, d.created_at
FROM deals d JOIN bench_deals b ON b.id = d.id;
INSERT INTO deal_stage_history (id, deal_id, from_stage_id, to_stage_id, changed_at, created_at, updated_at)
SELECT gen_random_uuid(), d.id, d.stage_id, d.stage_id, d.stage_entered_at, d.stage_entered_at, d.stage_entered_at
FROM deals d JOIN bench_deals b ON b.id = d.id WHERE d.stage_entered_at > d.created_at;

INSERT INTO deal_splits (id, deal_id, member_id, type, percent, created_at, updated_at)
SELECT gen_random_uuid(), d.id, m.id, s.type, s.percent, now(), now()
FROM deals d
JOIN bench_deals b ON b.id = d.id
CROSS JOIN (VALUES (0, 'revenue', 60.00), (1, 'revenue', 40.00), (2, 'overlay', 100.00)) AS s(shift, type, percent)
JOIN bench_members m ON m.n = 1 + (b.owner_n + s.shift) % (SELECT count(*) FROM bench_members)
WHERE d.status = 'won' AND b.g % 5 = 0;

INSERT INTO activities (id, type, subject, occurred_at, actor_id, source, deal_id, created_at, updated_at)
SELECT gen_random_uuid(), (ARRAY['call', 'email', 'email', 'meeting', 'note', 'task'])[1 + floor(random() * 6)::int],
       'Bench activity ' || a.g, a.t, m.id, 'manual', b.id, a.t, a.t
FROM (SELECT g, now() - make_interval(secs => random() * 730 * 86400) AS t,
             1 + floor(random() * (SELECT count(*) FROM bench_members))::int AS actor_n,
             1 + floor(random() * :deals)::int AS deal_g
      FROM generate_series(1, :activities) g) a
JOIN bench_members m ON m.n = a.actor_n
JOIN bench_deals b ON b.g = a.deal_g;

CREATE TEMP TABLE bench_meetings AS
SELECT gen_random_uuid() AS id, g, now() - make_interval(secs => random() * 730 * 86400) AS starts_at,
       1 + floor(random() * (SELECT count(*) FROM bench_members))::int AS member_n, 1 + floor(random() * :deals)::int AS deal_g
FROM generate_series(1, :meetings) g;
INSERT INTO meetings (id, title, starts_at, ends_at, deal_id, created_at, updated_at)
SELECT mt.id, 'Bench meeting ' || mt.g, mt.starts_at, mt.starts_at + interval '30 minutes', b.id, mt.starts_at, mt.starts_at
FROM bench_meetings mt JOIN bench_deals b ON b.g = mt.deal_g;
INSERT INTO meeting_attendees (id, meeting_id, email, member_id, created_at, updated_at)
SELECT gen_random_uuid(), mt.id, 'attendee' || a.shift || '-' || mt.g || '@reports.example.com',
       CASE WHEN a.shift < 2 THEN m.id END, now(), now()
FROM bench_meetings mt
CROSS JOIN generate_series(0, 2) AS a(shift)
JOIN bench_members m ON m.n = 1 + (mt.member_n + a.shift) % (SELECT count(*) FROM bench_members);
COMMIT;

ANALYZE deals;
ANALYZE deal_stage_history;
ANALYZE deal_splits;
ANALYZE activities;
ANALYZE meetings;
ANALYZE meeting_attendees;

SELECT (SELECT count(*) FROM deals) AS deals, (SELECT count(*) FROM activities) AS activities,
       (SELECT count(*) FROM meetings) AS meetings, (SELECT count(*) FROM deal_splits) AS splits,
       (SELECT count(*) FROM deal_stage_history) AS history;
