-- Webhook deliveries taken, by the sender's delivery id. A delivery is
-- written here in the same transaction as the records it carried, so a
-- sender retrying a delivery we already took is told so, and nothing is
-- applied twice.
CREATE TABLE inbox (
    source_system TEXT NOT NULL,
    delivery_id   TEXT NOT NULL,
    body          JSONB NOT NULL,
    received_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (source_system, delivery_id)
);
