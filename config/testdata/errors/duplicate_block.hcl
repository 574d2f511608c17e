server { listen = "127.0.0.1:1" }
server { listen = "127.0.0.1:2" }
