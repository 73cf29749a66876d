//! Read engines (being written).
