terraform import ezscale_service_dependency.web_db 01934f72-0a1b-7c2d-8e3f-4a5b6c7d8e9f
