<?php

function sendBillingNotification($customerPhone, $customerName, $amount, $invoiceId, $messageType = 'payment_reminder') {
    $apiUrl = 'https://api.telenexustechnologies.com/api/v1/billing/send-notification';
    $instanceId = 'your-instance-id';
    $apiKey = 'your-api-key';
    
    $url = $apiUrl . '?instance_id=' . $instanceId;
    
    $data = [
        'phone_number' => $customerPhone,
        'customer_name' => $customerName,
        'amount' => $amount,
        'currency' => 'KES',
        'invoice_id' => $invoiceId,
        'due_date' => date('Y-m-d', strtotime('+7 days')),
        'message_type' => $messageType
    ];
    
    $options = [
        'http' => [
            'method' => 'POST',
            'header' => [
                'Content-Type: application/json',
                'Authorization: Bearer ' . $apiKey
            ],
            'content' => json_encode($data)
        ]
    ];
    
    $context = stream_context_create($options);
    $result = file_get_contents($url, false, $context);
    
    if ($result === FALSE) {
        throw new Exception('Failed to send billing notification');
    }
    
    return json_decode($result, true);
}

// Example usage
try {
    $response = sendBillingNotification(
        '254712345678',
        'John Doe',
        1500.00,
        'INV-2026-001',
        'payment_reminder'
    );
    echo "Message sent! ID: " . $response['message_id'];
} catch (Exception $e) {
    echo "Error: " . $e->getMessage();
}
?>
