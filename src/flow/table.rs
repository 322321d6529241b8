//! Flow table (written by the lead; placeholder while skeleton builds).
