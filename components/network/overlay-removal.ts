/**
 * The local step that removes dtr-ol when the cluster is destroyed, through the swarm manager the stack is given
 * (`cluster.swarmManagers`, the first that answers): DTR's destroy leaves the network, and on a DTR host (a UCP worker) removing it fails. It runs
 * only once no DTR container is left on any reachable host of the stack, and Docker itself refuses while a container
 * anywhere in the swarm is attached. Scripts are constant text; hosts and key travel in the environment (via-ssh).
 */
import { shFile } from "../dtr-cli/sh-file";
import { viaScript } from "../hosts/via-ssh";

const functions = () => shFile(__dirname, "overlay-removal.sh");

/** The variables holding the constant scripts (the command text only names them). */
export function overlayRemovalScripts(): Record<string, string> {
    return {
        DTR_HA_OL_UNUSED: `${functions()}\noverlay_unused_here`,
        DTR_HA_OL_MANAGER: `${functions()}\noverlay_manager_check`,
        DTR_HA_OL_REMOVE: `${functions()}\noverlay_remove`,
        // Create/update: the manager answers as one. Delete: every reachable DTR host is free of DTR containers, then remove.
        DTR_HA_OL_CHECK: viaScript('via_manager "$DTR_HA_OL_MANAGER"'),
        DTR_HA_OL_DELETE: viaScript(
            [
                'if ! via_each "$DTR_HA_OL_UNUSED"; then',
                '  echo "dtr-ha: dtr-ol kept: DTR containers remain on the stack\'s hosts (above); nothing was removed"',
                "  exit 0",
                "fi",
                'via_manager "$DTR_HA_OL_REMOVE" || {',
                '  [ "$via_state" = unreachable ] && echo "dtr-ha: no manager of cluster.swarmManagers is reachable: dtr-ol is still on the swarm; remove it on a manager with docker network rm dtr-ol, or run destroy again" >&2',
                "  exit 1",
                "}",
            ].join("\n"),
        ),
    };
}

export const OVERLAY_CHECK_COMMAND = 'sh -c "$DTR_HA_OL_CHECK"';
export const OVERLAY_DELETE_COMMAND = 'sh -c "$DTR_HA_OL_DELETE"';
