variable "run_id" {
  description = "The run id (unix seconds) the CLI picked; names the resource group and is passed to every runner."
  type        = number

  validation {
    condition     = var.run_id > 0 && floor(var.run_id) == var.run_id
    error_message = "run_id must be a positive integer."
  }
}

variable "api_url" {
  description = "Base URL of the Benchfleet API (the meta stack's output)."
  type        = string

  validation {
    condition     = can(regex("^https?://[^\\s'\"]+$", var.api_url))
    error_message = "api_url must be an http(s) URL without spaces or quotes."
  }
}

variable "api_key" {
  description = "The runner key (claim, heartbeat, complete, fail, upload-urls only), never the operator key."
  type        = string
  sensitive   = true

  validation {
    # A line break would end the value's line in the cloud-init YAML; everything else is shell-quoted.
    condition     = length(var.api_key) > 0 && !can(regex("[\\r\\n]", var.api_key))
    error_message = "api_key must be a non-empty single line."
  }
}

variable "runner_artifact_url" {
  description = "Presigned HTTPS URL of the bundled runner (runner.js); expires, so the CLI mints it just before apply."
  type        = string
  sensitive   = true

  validation {
    condition     = can(regex("^https?://", var.runner_artifact_url)) && !can(regex("[\\r\\n]", var.runner_artifact_url))
    error_message = "runner_artifact_url must be a single-line http(s) URL."
  }
}

variable "fleet" {
  description = "The fleet plan for Azure: VM size -> number of VMs (planFleet in lambdas/shared/fleet-plan.ts)."
  type        = map(number)

  validation {
    condition = alltrue([
      for size, count in var.fleet : can(regex("^Standard_[A-Za-z0-9_-]{1,40}$", size)) && count >= 0 && count <= 100 && floor(count) == count
    ])
    error_message = "fleet maps Standard_* sizes to whole VM counts from 0 to 100."
  }
}

variable "slots" {
  description = "Worker slots per VM: auto (one per vCPU) or cores (one per physical core); the fleet plan's VM counts assume it."
  type        = string
  default     = "auto"

  validation {
    condition     = contains(["auto", "cores"], var.slots)
    error_message = "slots must be auto or cores."
  }
}

variable "max_vm_hours" {
  description = "Hours after boot at which each runner VM deallocates itself, whatever its runner is doing: the last resort against a runner that hangs while nobody watches (benchfleet start --max-vm-hours, whose default is derived from the run)."
  type        = number
  default     = 24 # for a by-hand apply; benchfleet always passes the run's own value

  validation {
    # the bounds of --max-vm-hours (MIN_MAX_VM_HOURS, MAX_MAX_VM_HOURS in lambdas/shared/vm-life.ts)
    condition     = var.max_vm_hours >= 1 && var.max_vm_hours <= 168
    error_message = "max_vm_hours must be a number of hours from 1 to 168 (a week)."
  }
}

variable "region" {
  description = "Azure region of every resource."
  type        = string
  default     = "eastus"
}

variable "bastion_ssh_public_key" {
  description = "OpenSSH public key allowed on the bastion and the runner VMs (reach runners with ssh -J)."
  type        = string
}

variable "ssh_source_cidrs" {
  description = "Source address ranges (CIDR) allowed to SSH to the bastion, e.g. the operator's address/32. Empty (the default): no SSH from outside at all."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.ssh_source_cidrs : can(cidrhost(c, 0))])
    error_message = "Each ssh_source_cidrs entry must be a CIDR range such as 203.0.113.7/32."
  }
}

variable "tags" {
  description = "Extra tags for every taggable resource; benchfleet:project and benchfleet:run-id are always set."
  type        = map(string)
  default     = {}
}

variable "project" {
  description = "Value of the benchfleet:project tag, which the nuke command searches for."
  type        = string
  default     = "benchfleet"
}

variable "admin_username" {
  description = "Login user on the bastion and the runner VMs."
  type        = string
  default     = "benchfleet"
}

variable "bastion_size" {
  description = "VM size of the bastion, which only forwards SSH."
  type        = string
  default     = "Standard_B1s"
}

variable "node_version" {
  description = "Node.js version installed on runner VMs from the official linux-x64/linux-arm64 tarballs."
  type        = string
  default     = "22.12.0"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.node_version))
    error_message = "node_version must look like 22.12.0."
  }
}

variable "runner_os_disk_gb" {
  description = "OS disk size of a runner VM; Docker keeps the Ruby image and results here."
  type        = number
  default     = 64
}

variable "address_space" {
  description = "Address space of the run's virtual network."
  type        = string
  default     = "10.42.0.0/16"
}
