"""The verifier daemon: fetches every appended batch's data, re-executes it and challenges
(data request, fraud proof) what does not match."""
