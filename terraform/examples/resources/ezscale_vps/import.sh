terraform import 'ezscale_vps.web[0]' 01934f70-1b2c-7e3d-8f4a-5b6c7d8e9f00
