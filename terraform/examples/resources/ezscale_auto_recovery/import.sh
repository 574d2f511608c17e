# By the service's id.
terraform import ezscale_auto_recovery.web 01934f70-1b2c-7e3d-8f4a-5b6c7d8e9f00
