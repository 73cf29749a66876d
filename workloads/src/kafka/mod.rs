//! Kafka's on-disk log format (being written).
