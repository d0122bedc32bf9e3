"""`ddoctor check --live`: real collectives between real ranks (torch only inside the rank processes)."""
