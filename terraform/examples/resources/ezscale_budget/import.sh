# By the account's id.
terraform import ezscale_budget.monthly 01934f60-0a1b-7c2d-8e3f-4a5b6c7d8e9f
