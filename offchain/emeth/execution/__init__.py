"""The EMETH execution layer: jobs, SubJobs and Tickets behind a signed-action HTTP API."""
