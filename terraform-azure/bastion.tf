# A small jump host: the only VM with a public address, key-only SSH. Reach a runner with
# `ssh -J benchfleet@<bastion_public_ip> benchfleet@<runner private IP>`. Made only when
# ssh_source_cidrs lets someone in (local.bastion_count).
resource "azurerm_public_ip" "bastion" {
  count               = local.bastion_count
  name                = "${local.name}-bastion-ip"
  location            = azurerm_resource_group.run.location
  resource_group_name = azurerm_resource_group.run.name
  allocation_method   = "Static"
  sku                 = "Standard"
  tags                = local.tags
}

resource "azurerm_network_interface" "bastion" {
  count               = local.bastion_count
  name                = "${local.name}-bastion-nic"
  location            = azurerm_resource_group.run.location
  resource_group_name = azurerm_resource_group.run.name
  tags                = local.tags

  ip_configuration {
    name                          = "primary"
    subnet_id                     = azurerm_subnet.bastion.id
    private_ip_address_allocation = "Static"
    private_ip_address            = local.bastion_private_ip
    public_ip_address_id          = azurerm_public_ip.bastion[0].id
  }
}

resource "azurerm_linux_virtual_machine" "bastion" {
  count                           = local.bastion_count
  name                            = "${local.name}-bastion"
  location                        = azurerm_resource_group.run.location
  resource_group_name             = azurerm_resource_group.run.name
  size                            = var.bastion_size
  admin_username                  = var.admin_username
  disable_password_authentication = true
  network_interface_ids           = [azurerm_network_interface.bastion[0].id]
  tags                            = local.tags

  admin_ssh_key {
    username   = var.admin_username
    public_key = var.bastion_ssh_public_key
  }

  os_disk {
    caching              = "ReadWrite"
    storage_account_type = "Standard_LRS"
  }

  source_image_reference {
    publisher = local.ubuntu_image.publisher
    offer     = local.ubuntu_image.offer
    sku       = local.ubuntu_image.x86_64_sku
    version   = "latest"
  }
}
