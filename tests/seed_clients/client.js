const axios = require('axios');

const TELENEXUS_API_URL = 'https://api.telenexustechnologies.com';
const INSTANCE_ID = 'your-instance-id';
const API_KEY = 'your-api-key';

async function sendBillingNotification(customerPhone, customerName, amount, invoiceId, messageType = 'payment_reminder') {
    const url = `${TELENEXUS_API_URL}/api/v1/billing/send-notification`;
    
    // Calculate due date (7 days from now)
    const dueDate = new Date();
    dueDate.setDate(dueDate.getDate() + 7);
    
    try {
        const response = await axios.post(url, {
            phone_number: customerPhone,
            customer_name: customerName,
            amount: amount,
            currency: 'KES',
            invoice_id: invoiceId,
            due_date: dueDate.toISOString().split('T')[0],
            message_type: messageType
        }, {
            params: { instance_id: INSTANCE_ID },
            headers: {
                'Content-Type': 'application/json',
                'Authorization': `Bearer ${API_KEY}`
            }
        });
        
        console.log('‚úÖ Message sent!', response.data);
        return response.data;
    } catch (error) {
        console.error('‚ùå Failed to send:', error.response?.data || error.message);
        throw error;
    }
}

// Example usage
sendBillingNotification(
    '254712345678',
    'John Doe',
    1500.00,
    'INV-2026-001',
    'payment_reminder'
);
