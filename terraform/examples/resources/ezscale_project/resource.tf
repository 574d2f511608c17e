resource "ezscale_project" "shop" {
  name        = "shop"
  description = "The web shop and its database"
  colour      = "#2f855a"
  icon        = "shopping-cart"
}
