-- A snapshot's rows stored in key order (snapshot, deal), as the SQLite side now keeps them.
-- Accuracy looks the deals closed in a period up in each weekly snapshot; rows written before
-- this (by the forecast-truth backfill, say) may lie anywhere in the heap. CLUSTER rewrites the
-- table once in key order; new snapshots are appended in that order (`ORDER BY id` on insert).
CLUSTER snapshot_deals USING snapshot_deals_pkey;
