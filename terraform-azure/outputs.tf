# Addresses and names only: the API key and the artifact URL stay out of every output.
output "resource_group_name" {
  description = "The run's resource group; deleting it removes everything this module made."
  value       = azurerm_resource_group.run.name
}

output "bastion_public_ip" {
  description = "Public address of the bastion; null without ssh_source_cidrs (no bastion)."
  value       = one(azurerm_public_ip.bastion[*].ip_address)
}

output "bastion_ssh" {
  description = "SSH command for the bastion; add -J with it to reach a runner's private IP. null without a bastion."
  value       = local.bastion_count > 0 ? "ssh ${var.admin_username}@${azurerm_public_ip.bastion[0].ip_address}" : null
}

output "runner_vm_names" {
  description = "Names of the runner VMs, one per planned VM."
  value       = [for vm in azurerm_linux_virtual_machine.runner : vm.name]
}

output "runner_private_ips" {
  description = "Runner VM name -> private IP, for ssh -J through the bastion."
  value       = { for key, vm in azurerm_linux_virtual_machine.runner : vm.name => azurerm_network_interface.runner[key].private_ip_address }
}

output "nat_public_ip" {
  description = "The address runner traffic leaves from, for allow-lists."
  value       = azurerm_public_ip.nat.ip_address
}
