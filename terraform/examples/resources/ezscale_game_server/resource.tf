resource "ezscale_game_server" "survival" {
  plan  = "minecraft-2gb"
  label = "survival"
}
