# One resource group per run holds everything, so `terraform destroy` (or deleting the group) ends
# every cost of the run; the tags let the nuke command find a group whose state was lost.
locals {
  name = "bf-${var.run_id}"
  tags = merge(var.tags, {
    "benchfleet:project" = var.project
    "benchfleet:run-id"  = tostring(var.run_id)
  })

  bastion_subnet     = cidrsubnet(var.address_space, 8, 0)
  runners_subnet     = cidrsubnet(var.address_space, 4, 1)
  bastion_private_ip = cidrhost(local.bastion_subnet, 4) # Azure reserves .0 to .3 of a subnet

  # The bastion VM, its public IP and its disk bill by the hour and serve only SSH from
  # ssh_source_cidrs: with none, nobody could reach it, so there is none.
  bastion_count = length(var.ssh_source_cidrs) > 0 ? 1 : 0
}

resource "azurerm_resource_group" "run" {
  name     = "benchfleet-${var.run_id}"
  location = var.region
  tags     = local.tags
}

resource "azurerm_virtual_network" "run" {
  name                = "${local.name}-vnet"
  location            = azurerm_resource_group.run.location
  resource_group_name = azurerm_resource_group.run.name
  address_space       = [var.address_space]
  tags                = local.tags
}

resource "azurerm_subnet" "bastion" {
  name                 = "bastion"
  resource_group_name  = azurerm_resource_group.run.name
  virtual_network_name = azurerm_virtual_network.run.name
  address_prefixes     = [local.bastion_subnet]
}

resource "azurerm_subnet" "runners" {
  name                 = "runners"
  resource_group_name  = azurerm_resource_group.run.name
  virtual_network_name = azurerm_virtual_network.run.name
  address_prefixes     = [local.runners_subnet]
  # Runners reach the internet (API, S3, registries) only through the NAT gateway.
  default_outbound_access_enabled = false
}

# Outbound only: the runners pull images and call the API through one static address.
resource "azurerm_public_ip" "nat" {
  name                = "${local.name}-nat-ip"
  location            = azurerm_resource_group.run.location
  resource_group_name = azurerm_resource_group.run.name
  allocation_method   = "Static"
  sku                 = "Standard"
  tags                = local.tags
}

resource "azurerm_nat_gateway" "run" {
  name                    = "${local.name}-nat"
  location                = azurerm_resource_group.run.location
  resource_group_name     = azurerm_resource_group.run.name
  sku_name                = "Standard"
  idle_timeout_in_minutes = 10
  tags                    = local.tags
}

resource "azurerm_nat_gateway_public_ip_association" "run" {
  nat_gateway_id       = azurerm_nat_gateway.run.id
  public_ip_address_id = azurerm_public_ip.nat.id
}

resource "azurerm_subnet_nat_gateway_association" "runners" {
  subnet_id      = azurerm_subnet.runners.id
  nat_gateway_id = azurerm_nat_gateway.run.id
}

# Runners accept SSH from the bastion and nothing else: the explicit deny outranks Azure's default
# AllowVnetInBound and AllowAzureLoadBalancerInBound rules.
resource "azurerm_network_security_group" "runners" {
  name                = "${local.name}-runners-nsg"
  location            = azurerm_resource_group.run.location
  resource_group_name = azurerm_resource_group.run.name
  tags                = local.tags

  security_rule {
    name                       = "allow-ssh-from-bastion"
    priority                   = 100
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = "22"
    source_address_prefix      = "${local.bastion_private_ip}/32"
    destination_address_prefix = "*"
  }

  security_rule {
    name                       = "deny-all-other-inbound"
    priority                   = 4096
    direction                  = "Inbound"
    access                     = "Deny"
    protocol                   = "*"
    source_port_range          = "*"
    destination_port_range     = "*"
    source_address_prefix      = "*"
    destination_address_prefix = "*"
  }
}

resource "azurerm_subnet_network_security_group_association" "runners" {
  subnet_id                 = azurerm_subnet.runners.id
  network_security_group_id = azurerm_network_security_group.runners.id
}

# The bastion takes SSH from ssh_source_cidrs, the one inbound door into the run's network. With
# none given (the default) there is no allow rule at all: the deny below shuts every door.
resource "azurerm_network_security_group" "bastion" {
  name                = "${local.name}-bastion-nsg"
  location            = azurerm_resource_group.run.location
  resource_group_name = azurerm_resource_group.run.name
  tags                = local.tags

  dynamic "security_rule" {
    for_each = length(var.ssh_source_cidrs) > 0 ? [var.ssh_source_cidrs] : []
    content {
      name                       = "allow-ssh"
      priority                   = 100
      direction                  = "Inbound"
      access                     = "Allow"
      protocol                   = "Tcp"
      source_port_range          = "*"
      destination_port_range     = "22"
      source_address_prefixes    = security_rule.value
      destination_address_prefix = "*"
    }
  }

  security_rule {
    name                       = "deny-all-other-inbound"
    priority                   = 4096
    direction                  = "Inbound"
    access                     = "Deny"
    protocol                   = "*"
    source_port_range          = "*"
    destination_port_range     = "*"
    source_address_prefix      = "*"
    destination_address_prefix = "*"
  }
}

resource "azurerm_subnet_network_security_group_association" "bastion" {
  subnet_id                 = azurerm_subnet.bastion.id
  network_security_group_id = azurerm_network_security_group.bastion.id
}
