"""`gateway simulate`: one institution's side of the exchange, played against a sandbox gateway, so
that each institution's team can test its own system without the other's (see README, Sandbox
simulator). `scenarios` is the table of what each side does, `material` what it writes (all
invented), `actor` the loop that reads the inbox and acts through the SDK."""
