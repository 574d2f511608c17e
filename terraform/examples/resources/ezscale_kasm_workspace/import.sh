terraform import ezscale_kasm_workspace.browser 01934f70-1b2c-7e3d-8f4a-5b6c7d8e9f02
