locals {
  # Ubuntu 24.04 LTS; Canonical publishes the Arm64 build as a SKU of its own.
  ubuntu_image = {
    publisher  = "Canonical"
    offer      = "ubuntu-24_04-lts"
    x86_64_sku = "server"
    arm64_sku  = "server-arm64"
  }

  # A 'p' among a size's feature letters (Standard_D2pls_v6, Standard_E4ps_v5) means an Arm64
  # processor: the rule deriveSpec in lambdas/shared/instance-types.ts uses, checked by the tests.
  arm64_size_pattern = "^Standard_[A-Z]+[0-9]+[a-z]*p[a-z]*(_v[0-9]+)?$"
  nvme_size_pattern  = "_v([6-9]|[1-9][0-9])$"

  # One entry per planned VM, "d2pls-v6-1" => "Standard_D2pls_v6".
  runner_vms = merge([
    for size, count in var.fleet : {
      for i in range(count) : "${lower(replace(trimprefix(size, "Standard_"), "_", "-"))}-${i + 1}" => size
    }
  ]...)

  # The template's inputs other than the VM's size. Every input is shell-quoted where the template
  # is rendered (runner VMs' custom_data), so the template interpolates nothing unquoted.
  runner_values = {
    api_url             = var.api_url
    api_key             = var.api_key
    run_id              = tostring(var.run_id)
    runner_artifact_url = var.runner_artifact_url
    node_version        = var.node_version
    slots               = var.slots
    max_vm_hours        = tostring(var.max_vm_hours)
    max_vm_minutes      = tostring(floor(var.max_vm_hours * 60 + 0.5)) # the timer's; templatefile has no round()
  }
}

resource "azurerm_network_interface" "runner" {
  for_each = local.runner_vms

  name                = "${local.name}-${each.key}-nic"
  location            = azurerm_resource_group.run.location
  resource_group_name = azurerm_resource_group.run.name
  tags                = local.tags

  # No public_ip_address_id: runners are reached through the bastion and go out through the NAT.
  ip_configuration {
    name                          = "primary"
    subnet_id                     = azurerm_subnet.runners.id
    private_ip_address_allocation = "Dynamic"
  }
}

resource "azurerm_linux_virtual_machine" "runner" {
  for_each = local.runner_vms

  name                            = "${local.name}-${each.key}"
  location                        = azurerm_resource_group.run.location
  resource_group_name             = azurerm_resource_group.run.name
  size                            = each.value
  admin_username                  = var.admin_username
  disable_password_authentication = true
  network_interface_ids           = [azurerm_network_interface.runner[each.key].id]
  tags                            = merge(local.tags, { "benchfleet:instance-type" = each.value })
  # v6 sizes boot from NVMe (the AMD ones only from NVMe); older sizes keep the SCSI default.
  disk_controller_type = can(regex(local.nvme_size_pattern, each.value)) ? "NVMe" : null

  # 'x' becomes 'x' and it's becomes 'it'\''s': a quoted value can never end its quotes early.
  custom_data = base64encode(templatefile("${path.module}/cloud-init.yaml.tftpl", {
    for k, v in merge(local.runner_values, { instance_type = each.value }) : k => "'${replace(v, "'", "'\\''")}'"
  }))

  # Its own identity, allowed to deallocate this VM and nothing else (see azurerm_role_assignment).
  identity {
    type = "SystemAssigned"
  }

  admin_ssh_key {
    username   = var.admin_username
    public_key = var.bastion_ssh_public_key
  }

  os_disk {
    caching              = "ReadWrite"
    storage_account_type = "StandardSSD_LRS" # every size takes it; premium needs an 's' size
    disk_size_gb         = var.runner_os_disk_gb
  }

  source_image_reference {
    publisher = local.ubuntu_image.publisher
    offer     = local.ubuntu_image.offer
    sku       = can(regex(local.arm64_size_pattern, each.value)) ? local.ubuntu_image.arm64_sku : local.ubuntu_image.x86_64_sku
    version   = "latest"
  }

  # Managed boot diagnostics: the serial log shows cloud-init even when SSH never comes up.
  boot_diagnostics {}

  # The subnet has no default outbound access: a runner that boots before the NAT gateway (or its
  # NSG) is on the subnet cannot install Docker or fetch runner.js, and idles until the teardown.
  # Nothing in the VM's arguments names these associations, so terraform needs telling.
  depends_on = [
    azurerm_subnet_nat_gateway_association.runners,
    azurerm_nat_gateway_public_ip_association.run,
    azurerm_subnet_network_security_group_association.runners,
  ]
}

# A powered-off VM still bills for its compute; a deallocated one does not. The runner's shutdown
# command (benchfleet-deallocate, written by cloud-init) deallocates through ARM with the VM's own
# identity. This role can only read and deallocate VMs, and each VM gets it on itself alone.
resource "azurerm_role_definition" "self_deallocate" {
  name        = "${local.name}-self-deallocate"
  scope       = azurerm_resource_group.run.id
  description = "Lets a Benchfleet runner VM deallocate itself when its work is done."

  permissions {
    actions = [
      "Microsoft.Compute/virtualMachines/read",
      "Microsoft.Compute/virtualMachines/deallocate/action",
    ]
  }

  assignable_scopes = [azurerm_resource_group.run.id]
}

resource "azurerm_role_assignment" "runner_self_deallocate" {
  for_each = local.runner_vms

  scope              = azurerm_linux_virtual_machine.runner[each.key].id
  role_definition_id = azurerm_role_definition.self_deallocate.role_definition_resource_id
  principal_id       = azurerm_linux_virtual_machine.runner[each.key].identity[0].principal_id
  principal_type     = "ServicePrincipal"
  # The identity was created moments ago; skip the directory lookup that replication delay can fail.
  skip_service_principal_aad_check = true
}
