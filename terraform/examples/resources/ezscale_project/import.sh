# By id, or by the project's name.
terraform import ezscale_project.shop 01934f6e-8c1a-7d2b-9a55-0e4c2f1d3b7a
terraform import ezscale_project.shop shop
